; Inno Setup 6 script: a per-user installer for almc-assistant (no administrator rights).
;
;   1. Build the app first (from the repository root, on Windows):
;        python packaging\make_icons.py            (only after changing the app icon)
;        pyinstaller packaging\pyinstaller\almc-assistant.spec --noconfirm
;   2. Compile the installer:
;        iscc packaging\windows\almc-assistant.iss
;      Output: dist\almc-assistant-<version>-setup.exe
;
; The version is read from the built almc-assistant.exe (its ProductVersion, which the
; spec takes from pyproject.toml); override with  iscc /DAppVersion=1.2.3 ...
;
; Start at login is the app's own: the installer runs "almc-assistant-cli.exe autostart
; on" (or "off" when the task is unticked), which writes the per-user Run value
; HKCU\Software\Microsoft\Windows\CurrentVersion\Run\almc-assistant, the same entry the
; app's Settings and command line change, within the facility's start_at_login policy.
; Uninstalling removes that value whatever the policy.

#define AppName "almc-assistant"
#define AppExe "almc-assistant.exe"
#define CliExe "almc-assistant-cli.exe"
#define BuildDir AddBackslash(SourcePath) + "..\..\dist\almc-assistant"
#ifndef AppVersion
  #define AppVersion GetStringFileInfo(BuildDir + "\" + AppExe, "ProductVersion")
#endif
#if AppVersion == ""
  #error Build the app first (dist\almc-assistant\almc-assistant.exe not found or has no version), or pass /DAppVersion=...
#endif

[Setup]
; AppId identifies the installation for upgrades and uninstall: never change it.
AppId={{6C1F6B0E-8E0B-4C7A-9D43-2F1A5B7E9C21}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=ALMC
AppComments=Checks microscopy files, copies them with verification, reminds you before data is at risk.
VersionInfoVersion={#AppVersion}
; Per user, no elevation: each user of a shared microscope PC installs (or the facility
; deploys) into their own profile; settings and catalog are per user anyway.
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DisableDirPage=auto
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile=..\icons\app.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
; An update while the tray app runs: Setup asks it to close (Restart Manager) and does
; not restart it itself; the post-install "Start almc-assistant" box does.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "startatlogin"; Description: "Start {#AppName} when I log in (needed for its reminders before you log out)"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BuildDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An update replaces the whole bundle: no stale libraries of the old version stay behind.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Microscopy data backup assistant"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#CliExe}"; Parameters: "autostart on"; StatusMsg: "Setting {#AppName} to start when you log in..."; Tasks: startatlogin; Flags: runhidden waituntilterminated
Filename: "{app}\{#CliExe}"; Parameters: "autostart off"; Tasks: not startatlogin; Flags: runhidden waituntilterminated
Filename: "{app}\{#AppExe}"; Description: "Start {#AppName} now"; Flags: postinstall nowait skipifsilent

[UninstallRun]
; First step of uninstalling: the app's own "off" (honoured unless the facility forces
; it on; [Code] below removes the value in any case).
Filename: "{app}\{#CliExe}"; Parameters: "autostart off"; RunOnceId: "AutostartOff"; Flags: runhidden waituntilterminated

[Code]
const
  RunKey = 'Software\Microsoft\Windows\CurrentVersion\Run';
  ApprovedKey = 'Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run';
  RunValue = '{#AppName}';

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  { The program is going away: its start-at-login entry (and Task Manager's on/off
    mark of it) must not outlive it. }
  if CurUninstallStep = usUninstall then
  begin
    if RegValueExists(HKEY_CURRENT_USER, RunKey, RunValue) then
      RegDeleteValue(HKEY_CURRENT_USER, RunKey, RunValue);
    if RegValueExists(HKEY_CURRENT_USER, ApprovedKey, RunValue) then
      RegDeleteValue(HKEY_CURRENT_USER, ApprovedKey, RunValue);
  end;
end;
