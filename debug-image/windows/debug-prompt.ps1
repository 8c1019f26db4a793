# Prompt for the retina-tui Windows debug shell: make it obvious where the commands run.
# The image's all-users profile ($PSHOME\Profile.ps1) dot-sources this file, so every
# powershell.exe in a pod's debug container shows the pod's name. A node shell (HostProcess
# container) runs the node's own PowerShell with the node's profile; there, dot-source it
# from the image's files for the same prompt:
#   . "$env:CONTAINER_SANDBOX_MOUNT_POINT\retina-tui-debug\debug-prompt.ps1"
function global:prompt {
    "PS [rtui $env:COMPUTERNAME] $($executionContext.SessionState.Path.CurrentLocation)$('>' * ($NestedPromptLevel + 1)) "
}
