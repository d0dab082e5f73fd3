// Software prefetch for the matrix kernels: `_mm_prefetch` is a macro, which Swift does not import.
static inline __attribute__((always_inline)) void tandem_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}
