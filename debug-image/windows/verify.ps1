<#
.SYNOPSIS
Smoke-check the Windows debug image: every tool in tools.txt starts and works, and the
prompt names the machine.

.DESCRIPTION
Runs each check of smoke-checks.txt (next to this script) in its own powershell.exe, so a
check that hangs is stopped after -TimeoutSeconds and one that changes its session leaves
the others alone. Checks of "host" tools (hnsdiag) are skipped unless -OnNode is given:
those tools come from the node, not from the image, and are there only in a node shell
(a HostProcess container). The image build runs this as its last step; run it again in a
built image with
    docker run --rm IMAGE powershell -File C:\retina-tui-debug\verify.ps1
or on a node, in a node shell, with
    & "$env:CONTAINER_SANDBOX_MOUNT_POINT\retina-tui-debug\verify.ps1" -OnNode

Exit status: 0 when every check passed, 1 when any failed, 2 when it could not run.
#>
[CmdletBinding()]
param(
    # Also run the checks of host tools, and skip the prompt check (a node shell runs the
    # node's own PowerShell, with the node's profile).
    [switch] $OnNode,
    [int] $TimeoutSeconds = 60
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Here = $PSScriptRoot
$ToolsFile = Join-Path $Here 'tools.txt'
$SmokeChecksFile = Join-Path $Here 'smoke-checks.txt'
$Sources = @('windows', 'host')
$DetailWidth = 58
# The profile's prompt, as seen by a new powershell.exe started in C:\.
$PromptCheck = 'Set-Location C:\; $shown = prompt; Write-Output "prompt: [$shown]"; ' +
    '$shown -ceq "PS [rtui $env:COMPUTERNAME] C:\> "'

# Each check runs as this script in a child powershell.exe; <COMMAND> is the check.
$Wrapper = @'
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$global:LASTEXITCODE = 0
try {
    $result = @(& {
<COMMAND>
    })
} catch {
    [Console]::Error.WriteLine(($_ | Out-String))
    exit 1
}
[Console]::Out.Write(($result | Out-String -Width 200))
if ($result.Count -gt 0 -and $result[-1] -is [bool]) {
    if ($result[-1]) { exit 0 }
    [Console]::Error.WriteLine('the check returned False')
    exit 1
}
if ($global:LASTEXITCODE) { exit $global:LASTEXITCODE }
exit 0
'@

function Read-Rows {
    <# The fields of each line of a tab-separated list, without comments and blank lines;
       a malformed line stops the run, naming it. #>
    param([string] $Path, [string[]] $Columns)
    $name = Split-Path -Leaf $Path
    $number = 0
    foreach ($line in [System.IO.File]::ReadAllLines($Path)) {
        $number++
        if ([string]::IsNullOrWhiteSpace($line) -or $line.TrimStart().StartsWith('#')) { continue }
        $fields = $line.Split("`t")
        $blank = @($fields | Where-Object { [string]::IsNullOrWhiteSpace($_) })
        if ($fields.Count -ne $Columns.Count -or $blank.Count -gt 0 -or $Sources -notcontains $fields[1]) {
            throw ("$name line ${number}: expected $($Columns -join ', ') separated by tabs, " +
                "with source one of $($Sources -join ', '), got '$line'")
        }
        , $fields
    }
}

function Get-FirstLine {
    <# The first non-blank line of the given outputs, shortened for the table. #>
    param([string[]] $Texts)
    foreach ($text in $Texts) {
        foreach ($line in ($text -split "`r?`n")) {
            $line = ($line.Trim() -replace '\s+', ' ')
            if ($line) {
                if ($line.Length -gt $DetailWidth) { return $line.Substring(0, $DetailWidth - 1) + '~' }
                return $line
            }
        }
    }
    return ''
}

function Invoke-Check {
    <# Run one check in a new powershell.exe (with the profile only when asked). #>
    param([string] $Tool, [string] $Source, [string] $Command, [switch] $WithProfile)
    $script = $Wrapper.Replace('<COMMAND>', $Command)
    $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = Join-Path $PSHOME 'powershell.exe'
    $noProfile = if ($WithProfile) { '' } else { '-NoProfile ' }
    $info.Arguments = "-NoLogo $noProfile-NonInteractive -EncodedCommand $encoded"
    $info.WorkingDirectory = $env:SystemDrive + '\'
    $info.UseShellExecute = $false
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $process = [System.Diagnostics.Process]::Start($info)
    $process.StandardInput.Close()
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        try { $process.Kill() } catch { }
        $summary = "timed out after ${TimeoutSeconds}s"
        return [pscustomobject]@{
            Tool = $Tool; Source = $Source; Result = 'FAIL'; Output = $summary
            Full = "PS> $Command`n$summary"
        }
    }
    $process.WaitForExit()
    $out = $stdout.Result
    $err = $stderr.Result
    $passed = $process.ExitCode -eq 0
    if ($passed) {
        $summary = Get-FirstLine @($out, $err)
        if (-not $summary) { $summary = '(no output)' }
    } else {
        $summary = "exit $($process.ExitCode)"
    }
    [pscustomobject]@{
        Tool = $Tool; Source = $Source; Result = $(if ($passed) { 'pass' } else { 'FAIL' })
        Output = $summary; Full = "PS> $Command`n$out$err"
    }
}

try {
    $tools = @(Read-Rows -Path $ToolsFile -Columns 'tool', 'source')
    $checks = @(Read-Rows -Path $SmokeChecksFile -Columns 'tool', 'source', 'command')
} catch {
    [Console]::Error.WriteLine("verify.ps1: $($_.Exception.Message)")
    exit 2
}
$promised = @{}
$problems = @()
foreach ($tool in $tools) {
    if ($promised.ContainsKey($tool[0])) { $problems += "$($tool[0]) is listed twice in tools.txt" }
    $promised[$tool[0]] = $tool[1]
}
foreach ($check in $checks) {
    if (-not $promised.ContainsKey($check[0])) {
        $problems += "smoke check for $($check[0]), which tools.txt does not list"
    } elseif ($promised[$check[0]] -ne $check[1]) {
        $problems += "$($check[0]) comes from $($promised[$check[0]]), its smoke check says $($check[1])"
    }
}
$checkedTools = @($checks | ForEach-Object { $_[0] })
foreach ($tool in $tools) {
    if ($checkedTools -notcontains $tool[0]) { $problems += "$($tool[0]) has no smoke check" }
}
if ($problems) {
    foreach ($problem in $problems) { [Console]::Error.WriteLine("verify.ps1: $problem") }
    exit 2
}

$where = if ($OnNode) { 'on the node' } else { 'in the image' }
Write-Output "Smoke checks $where ($env:COMPUTERNAME, $([Environment]::OSVersion.VersionString))"
$results = @()
foreach ($check in $checks) {
    if ($check[1] -eq 'host' -and -not $OnNode) {
        $results += [pscustomobject]@{
            Tool = $check[0]; Source = $check[1]; Result = 'skip'
            Output = 'comes from the node: verify.ps1 -OnNode in a node shell'; Full = ''
        }
        continue
    }
    $results += Invoke-Check -Tool $check[0] -Source $check[1] -Command $check[2]
}
if (-not $OnNode) {
    $results += Invoke-Check -Tool '(prompt)' -Source '-' -Command $PromptCheck -WithProfile
}

$toolWidth = [Math]::Max(4, ($results | ForEach-Object { $_.Tool.Length } | Measure-Object -Maximum).Maximum)
$sourceWidth = [Math]::Max(6, ($results | ForEach-Object { $_.Source.Length } | Measure-Object -Maximum).Maximum)
Write-Output ''
Write-Output ("{0}  {1}  RESULT  OUTPUT" -f 'TOOL'.PadRight($toolWidth), 'SOURCE'.PadRight($sourceWidth))
foreach ($r in $results) {
    Write-Output ("{0}  {1}  {2}  {3}" -f $r.Tool.PadRight($toolWidth), $r.Source.PadRight($sourceWidth),
        $r.Result.PadRight(6), $r.Output)
}
$run = @($results | Where-Object { $_.Result -ne 'skip' })
$failed = @($run | Where-Object { $_.Result -eq 'FAIL' })
Write-Output ''
Write-Output "$($run.Count - $failed.Count)/$($run.Count) checks passed"
foreach ($r in $failed) {
    Write-Output ''
    Write-Output "--- $($r.Tool) failed:"
    Write-Output $r.Full.TrimEnd()
}
if ($failed.Count -gt 0) {
    Write-Output ''
    Write-Output "Failed: $((@($failed | ForEach-Object { $_.Tool }) | Select-Object -Unique) -join ', ')"
    exit 1
}
exit 0
