/// Hands a pointer to the worker threads of `concurrentPerform`; each worker writes a disjoint range.
public struct UnsafeShared<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
