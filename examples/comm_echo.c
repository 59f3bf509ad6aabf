/* comm_echo: a Windows serial-port program, built unchanged against openwinusb.
 *
 * Opens a COM port (the one named on the command line, else the first of \\.\COM1 ..
 * \\.\COM256 that exists), sets 115200 8N1 with BuildCommDCB/SetCommState, and sends a few
 * lines through it with overlapped WriteFile, collecting what comes back with WaitCommEvent
 * (EV_RXCHAR) and ReadFile. Against a loopback device (the virtual cdc-acm model:
 * OPENWINUSB_BUSES=virtual:cdc-acm) every line must come back unchanged; the exit status
 * says whether it did.
 *
 *   comm_echo [COMn] */
#include <stdio.h>
#include <string.h>

#include <windows.h>

static HANDLE open_port(const char *name)
{
    return CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
}

/* The first COM port that exists; name gets its "\\.\COMn" path. */
static HANDLE find_port(char *name, size_t size)
{
    for (int n = 1; n <= 256; n++) {
        snprintf(name, size, "\\\\.\\COM%d", n);
        HANDLE h = open_port(name);
        if (h != INVALID_HANDLE_VALUE)
            return h;
        if (GetLastError() == ERROR_ACCESS_DENIED)
            fprintf(stderr, "%s is in use\n", name);
    }
    return INVALID_HANDLE_VALUE;
}

static BOOL wait_done(HANDLE h, OVERLAPPED *ov, DWORD *n, DWORD ms)
{
    if (WaitForSingleObject(ov->hEvent, ms) != WAIT_OBJECT_0) {
        CancelIo(h);
        GetOverlappedResult(h, ov, n, TRUE);
        SetLastError(ERROR_TIMEOUT);
        return FALSE;
    }
    return GetOverlappedResult(h, ov, n, TRUE);
}

/* Writes one line and reads until as many bytes came back (or 5 s passed). */
static BOOL echo_line(HANDLE h, const char *line, char *back, DWORD size)
{
    OVERLAPPED wov = {0}, rov = {0}, eov = {0};
    wov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    rov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    eov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD len = (DWORD)strlen(line), n = 0, got = 0;
    BOOL ok = WriteFile(h, line, len, NULL, &wov) || GetLastError() == ERROR_IO_PENDING;
    if (ok)
        ok = wait_done(h, &wov, &n, 5000) && n == len;
    DWORD start = GetTickCount();
    while (ok && got < len && got < size && GetTickCount() - start < 5000) {
        DWORD events = 0;
        if (!WaitCommEvent(h, &events, &eov) && GetLastError() != ERROR_IO_PENDING) {
            ok = FALSE;
            break;
        }
        if (!wait_done(h, &eov, &n, 5000)) {
            ok = FALSE;
            break;
        }
        if (!(events & EV_RXCHAR))
            continue;
        /* Read what is there (ReadIntervalTimeout MAXDWORD: never wait). */
        if (!ReadFile(h, back + got, size - got, NULL, &rov) && GetLastError() != ERROR_IO_PENDING) {
            ok = FALSE;
            break;
        }
        if (!wait_done(h, &rov, &n, 5000)) {
            ok = FALSE;
            break;
        }
        got += n;
    }
    CloseHandle(wov.hEvent);
    CloseHandle(rov.hEvent);
    CloseHandle(eov.hEvent);
    return ok && got == len && memcmp(back, line, len) == 0;
}

int main(int argc, char **argv)
{
    char name[32];
    HANDLE h;
    if (argc > 1) {
        snprintf(name, sizeof name, "%s", argv[1]);
        h = open_port(name);
    } else {
        h = find_port(name, sizeof name);
    }
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "no COM port (error %lu)\n", (unsigned long)GetLastError());
        return 1;
    }

    DCB dcb;
    memset(&dcb, 0, sizeof dcb);
    dcb.DCBlength = sizeof dcb;
    COMMTIMEOUTS timeouts = {MAXDWORD, 0, 0, 0, 5000};
    if (!GetCommState(h, &dcb) || !BuildCommDCBA("baud=115200 parity=N data=8 stop=1", &dcb) ||
        !SetCommState(h, &dcb) || !SetCommTimeouts(h, &timeouts) || !SetCommMask(h, EV_RXCHAR) ||
        !PurgeComm(h, PURGE_RXCLEAR | PURGE_TXCLEAR)) {
        fprintf(stderr, "%s: cannot set up the port (error %lu)\n", name, (unsigned long)GetLastError());
        CloseHandle(h);
        return 1;
    }
    DWORD modem = 0;
    GetCommModemStatus(h, &modem);
    printf("%s: %lu baud, %u data bits, modem status%s%s%s%s\n", name, (unsigned long)dcb.BaudRate,
           (unsigned)dcb.ByteSize, modem & MS_CTS_ON ? " CTS" : "", modem & MS_DSR_ON ? " DSR" : "",
           modem & MS_RING_ON ? " RING" : "", modem & MS_RLSD_ON ? " RLSD" : "");

    const char *lines[] = {"hello, serial port\r\n", "the quick brown fox jumps over the lazy dog\r\n",
                           "0123456789abcdefghijklmnopqrstuvwxyz\r\n"};
    int failures = 0;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char back[128] = {0};
        if (echo_line(h, lines[i], back, sizeof back - 1)) {
            printf("echoed: %s", back);
        } else {
            fprintf(stderr, "line %zu did not come back (error %lu)\n", i + 1, (unsigned long)GetLastError());
            failures++;
        }
    }
    DWORD errors = 0;
    COMSTAT stat;
    if (ClearCommError(h, &errors, &stat))
        printf("errors 0x%lx, %lu bytes waiting\n", (unsigned long)errors, (unsigned long)stat.cbInQue);
    CloseHandle(h);
    return failures ? 1 : 0;
}
