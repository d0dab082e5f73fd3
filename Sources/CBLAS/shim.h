// OpenBLAS's CBLAS interface (Debian: libopenblas-dev) plus its thread and core queries.
#include <cblas.h>
