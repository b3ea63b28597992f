/* bcryptprimitives.dll for Wine 8: exports ProcessPrng, which Wine 8 lacks.
 *
 * Rust's standard library (blake3's wheel) and Go programs (rclone.exe) import
 * bcryptprimitives!ProcessPrng, present since Windows 10; Wine 8.0 has no such export,
 * so they fail to load ("DLL load failed while importing blake3"). This DLL, put beside
 * python.exe, answers it with advapi32!SystemFunction036 (RtlGenRandom), which Wine has.
 * Built by .ci/windows-lane with Debian's gcc-mingw-w64-x86-64. Test lane only: never
 * shipped (real Windows has the real one).
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
