#define _GNU_SOURCE
#include <pthread.h>
#include "CThreads.h"

int CThreads_setCurrentThreadName(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
