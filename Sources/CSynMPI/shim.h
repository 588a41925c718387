// Open MPI's C API (Debian: libopenmpi-dev, found via pkg-config `ompi-c`). MPI_COMM_WORLD,
// MPI_FLOAT, MPI_IN_PLACE and friends are macros over addresses of library symbols, which Swift
// cannot import, so every call SynMPI makes goes through one of these inline wrappers.
#include <mpi.h>

static inline int synmpi_init_serialized(int *provided) {
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}
static inline int synmpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int synmpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
static inline int synmpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }
static inline int synmpi_finalize(void) { return MPI_Finalize(); }
static inline int synmpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static inline int synmpi_success(void) { return MPI_SUCCESS; }

static inline int synmpi_iallreduce_float(float *buffer, int count, MPI_Request *request) {
    return MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request);
}
static inline int synmpi_iallreduce_double(double *buffer, int count, MPI_Request *request) {
    return MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, request);
}
static inline int synmpi_iallgatherv_bytes(const void *send, int sendCount, void *receive, const int *counts,
                                           const int *displacements, MPI_Request *request) {
    return MPI_Iallgatherv(send, sendCount, MPI_BYTE, receive, counts, displacements, MPI_BYTE, MPI_COMM_WORLD, request);
}
static inline int synmpi_ibcast_bytes(void *buffer, int count, int root, MPI_Request *request) {
    return MPI_Ibcast(buffer, count, MPI_BYTE, root, MPI_COMM_WORLD, request);
}
static inline int synmpi_ibarrier(MPI_Request *request) { return MPI_Ibarrier(MPI_COMM_WORLD, request); }
static inline int synmpi_test(MPI_Request *request, int *done) { return MPI_Test(request, done, MPI_STATUS_IGNORE); }
