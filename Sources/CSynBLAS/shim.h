// OpenBLAS's CBLAS header (Debian installs it under openblas-pthread/, found via pkg-config).
#include <cblas.h>
