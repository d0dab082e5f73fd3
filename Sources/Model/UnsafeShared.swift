/// Hands a pointer to the worker threads of `concurrentPerform`; each worker writes a disjoint range.
struct UnsafeShared<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
