/* openwinusb Win32 subset: makes every later DEFINE_GUID a definition (see guiddef.h). */
#ifndef INITGUID
#define INITGUID
#endif
#include "guiddef.h"
