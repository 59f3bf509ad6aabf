/* openwinusb Win32 subset: the USB 2.0 descriptor header (descriptors and constants live in
 * usbspec.h). */
#ifndef OPENWINUSB_WIN32_USB200_H
#define OPENWINUSB_WIN32_USB200_H

#include "usb100.h"

#endif
