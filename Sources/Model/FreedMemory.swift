#if os(Linux)
/// glibc's `malloc_trim` (malloc.h is not part of the Glibc module).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Freed heap memory handed back to the kernel. glibc keeps what a load freed (file bytes read once,
/// rows decoded for tiles, an adapter's tensors before conversion) resident until asked to give it back.
public enum FreedMemory {
    public static func release() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}
