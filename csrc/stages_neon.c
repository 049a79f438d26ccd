/* placeholder */
#include "kernels.h"
