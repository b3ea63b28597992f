; almc-assistant: per-user Windows installer, built on Linux with Debian's NSIS.
;
;   makensis -DVERSION=0.1.0 -DBUILDDIR=<dist/almc-assistant> -DOUTFILE=<setup.exe> \
;       packaging/windows/almc-assistant.nsi
;
; (packaging/windows/build-under-wine does it all.) The same choices as
; almc-assistant.iss (Inno Setup, which needs Windows or Wine to compile): installs for
; the current user only (no administrator), into %LOCALAPPDATA%\Programs\almc-assistant,
; with a Start-menu entry; starting at login is a choice (a page component, or
; /STARTATLOGIN=0 on a silent install: /S), set through the app's own
; "almc-assistant-cli autostart on|off" so the entry is the one the app manages. The
; uninstaller turns it off, removes the Run value and Task Manager's mark of it if the
; program could not, and removes every installed file.

Unicode true
Target amd64-unicode
!include "FileFunc.nsh"
!include "LogicLib.nsh"
!include "MUI2.nsh"

!ifndef VERSION
  !error "pass -DVERSION=..."
!endif
!ifndef BUILDDIR
  !error "pass -DBUILDDIR=... (the PyInstaller folder dist/almc-assistant)"
!endif
!ifndef OUTFILE
  !define OUTFILE "almc-assistant-${VERSION}-setup.exe"
!endif

!define APP "almc-assistant"
!define APPEXE "almc-assistant.exe"
!define CLIEXE "almc-assistant-cli.exe"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP}"
!define RUNKEY "Software\Microsoft\Windows\CurrentVersion\Run"
!define APPROVEDKEY "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP}"
InstallDirRegKey HKCU "${UNINSTKEY}" "InstallLocation"
RequestExecutionLevel user
SetCompressor /SOLID lzma
Icon "..\icons\app.ico"
UninstallIcon "..\icons\app.ico"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "almc-assistant developers (BSD-3-Clause)"

!define MUI_ICON "..\icons\app.ico"
!define MUI_UNICON "..\icons\app.ico"
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "${APP}" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  RMDir /r "$INSTDIR\_internal" ; an older version's libraries must not linger
  File /r "${BUILDDIR}\*"
  WriteUninstaller "$INSTDIR\Uninstall.exe"
  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\${APPEXE}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTKEY}" "Publisher" "ALMC"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\${APPEXE}"
  WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\Uninstall.exe"'
  WriteRegStr HKCU "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\Uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1
SectionEnd

Section "Start ${APP} when I log in (needed for its reminders before you log out)" SecLogin
SectionEnd

Section "-autostart"
  ${If} ${SectionIsSelected} ${SecLogin}
    nsExec::ExecToLog '"$INSTDIR\${CLIEXE}" autostart on'
  ${Else}
    nsExec::ExecToLog '"$INSTDIR\${CLIEXE}" autostart off'
  ${EndIf}
  Pop $0 ; the exit code: a refused registry write is reported by the app itself
SectionEnd

Function .onInit
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/STARTATLOGIN=" $R1
  ${IfNot} ${Errors}
  ${AndIf} $R1 == "0"
    !insertmacro UnselectSection ${SecLogin}
  ${EndIf}
FunctionEnd

Section "Uninstall"
  nsExec::ExecToLog '"$INSTDIR\${CLIEXE}" autostart off'
  Pop $0
  DeleteRegValue HKCU "${RUNKEY}" "${APP}"
  DeleteRegValue HKCU "${APPROVEDKEY}" "${APP}"
  Delete "$SMPROGRAMS\${APP}.lnk"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${APPEXE}"
  Delete "$INSTDIR\${CLIEXE}"
  Delete "$INSTDIR\Uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINSTKEY}"
SectionEnd
