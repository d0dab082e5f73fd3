import Engine
import Testing

struct SharedPrefixWaitTests {
    typealias Prompt = SharedPrefixWait.Prompt

    /// A 40-token role prompt followed by `user` tokens of its own.
    static func rolePrompt(user: [Int32]) -> [Int32] { Array(0..<40).map(Int32.init) + user }

    @Test("a burst with one role prompt: the first computes it, the others wait for its pages")
    func burstWithOneRoleWaitsForTheFirst() {
        let prompts = (0..<4).map { i in
            Prompt(key: "base", tokens: Self.rolePrompt(user: [Int32(100 + i), 7]), started: false, remaining: 42)
        }
        #expect(SharedPrefixWait.waits(prompts, pageSize: 16) == [false, true, true, true])
    }

    @Test("no wait for another adapter, a prefix shorter than a page, or one covering less than half the prompt")
    func waitsOnlyWhenThereIsMuchToGain() {
        let first = Prompt(key: "base", tokens: Self.rolePrompt(user: [1]), started: true, remaining: 10)
        let otherAdapter = Prompt(key: "triage#1@1.0", tokens: Self.rolePrompt(user: [2]), started: false, remaining: 41)
        let shortShared = Prompt(key: "base", tokens: Array(0..<10).map(Int32.init) + Array(500..<540).map(Int32.init),
                                 started: false, remaining: 50)
        let mostlyOwn = Prompt(key: "base", tokens: Self.rolePrompt(user: Array(200..<300).map(Int32.init)),
                               started: false, remaining: 140)
        #expect(SharedPrefixWait.waits([first, otherAdapter, shortShared, mostlyOwn], pageSize: 16)
            == [false, false, false, false])
    }

    @Test("no wait once the leader's shared pages came from the cache, once started, or when the leader is done")
    func noWaitWithoutAnythingToGain() {
        let cachedLeader = Prompt(key: "base", tokens: Self.rolePrompt(user: [1]), started: true, remaining: 9,
                                  cachedTokens: 32)
        let follower = Prompt(key: "base", tokens: Self.rolePrompt(user: [2]), started: false, remaining: 41)
        #expect(SharedPrefixWait.waits([cachedLeader, follower], pageSize: 16) == [false, false])
        let leader = Prompt(key: "base", tokens: Self.rolePrompt(user: [1]), started: true, remaining: 30)
        var startedFollower = follower
        startedFollower.started = true
        #expect(SharedPrefixWait.waits([leader, startedFollower], pageSize: 16) == [false, false])
        var decoding = leader
        decoding.remaining = 0
        #expect(SharedPrefixWait.waits([decoding, follower], pageSize: 16) == [false, false])
        #expect(SharedPrefixWait.waits([leader, follower], pageSize: 16) == [false, true])
    }
}
