// SPDX-License-Identifier: Apache-2.0
// Everything in CLinux is static inline in the header; this file exists because SwiftPM needs a
// source file in every C target.
#include "CLinux.h"
