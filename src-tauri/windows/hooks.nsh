; NSIS installer hooks (bundle.windows.nsis.installerHooks in tauri.windows.conf.json).
; The uninstaller runs in the user's context (installMode currentUser), so Lanyard's own cleanup
; can reach the user's keychain (Credential Manager), IDE configs and the IdPs: it revokes the
; tokens, deletes the OAuth clients this machine registered and removes its IDE entries before
; the files go. A failure (IdP down) is reported and does not block the uninstall.

!macro NSIS_HOOK_POSTINSTALL
  ; Put lanyard.exe on the user's PATH is left to the user (documented in PACKAGING.md).
!macroend

!macro NSIS_HOOK_PREUNINSTALL
  DetailPrint "Lanyard: revoking tokens, deleting registered clients, removing IDE entries…"
  nsExec::ExecToLog '"$INSTDIR\lanyard.exe" uninstall --yes'
  Pop $0
  DetailPrint "lanyard uninstall exited with $0 (non-zero: leftovers are listed above)"
!macroend
