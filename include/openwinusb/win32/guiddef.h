/* openwinusb Win32 subset: GUID and DEFINE_GUID.
 *
 * The GUID type is defined once (include guard below). DEFINE_GUID is redefined on every
 * inclusion, as Windows does, so that including <initguid.h> (which defines INITGUID and
 * includes this file again) turns later DEFINE_GUID lines into definitions. Definitions
 * are weak symbols, the equivalent of Windows' selectany: every translation unit that
 * defines the same GUID may do so. */
#ifndef OPENWINUSB_WIN32_GUIDDEF_H
#define OPENWINUSB_WIN32_GUIDDEF_H

#include <stdint.h>
#include <string.h>

#ifndef GUID_DEFINED
#define GUID_DEFINED
/* Windows' layout: 16 bytes, Data1..Data3 in host byte order. */
typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;
#endif

typedef GUID *LPGUID;
typedef const GUID *LPCGUID;
typedef GUID IID;
typedef GUID CLSID;
#ifdef __cplusplus
#define REFGUID const GUID &
#define IsEqualGUID(a, b) (memcmp(&(a), &(b), sizeof(GUID)) == 0)
#else
#define REFGUID const GUID *
#define IsEqualGUID(a, b) (memcmp((a), (b), sizeof(GUID)) == 0)
#endif

#ifdef __cplusplus
#define OWU_GUID_EXTERN_ extern "C"
#else
#define OWU_GUID_EXTERN_
#endif

#endif /* OPENWINUSB_WIN32_GUIDDEF_H */

/* Outside the guard on purpose (see above). */
#undef DEFINE_GUID
#ifdef INITGUID
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                     \
    OWU_GUID_EXTERN_ const GUID name __attribute__((weak)) = {                             \
        (uint32_t)(l), (uint16_t)(w1), (uint16_t)(w2), {b1, b2, b3, b4, b5, b6, b7, b8}}
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) extern const GUID name
#endif
