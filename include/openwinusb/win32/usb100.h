/* openwinusb Win32 subset: the USB 1.0-era descriptor header (descriptors and constants live
 * in usbspec.h). */
#ifndef OPENWINUSB_WIN32_USB100_H
#define OPENWINUSB_WIN32_USB100_H

#include "usbspec.h"

#endif
