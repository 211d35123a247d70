import { canonicalGuid } from '../address/guid';

/*
 * PowerShell for the two Hyper-V chores that need an administrator, printed for a human to run
 * (ocaml-hvsock's `register_serviceid` and `vmid_of_name` ran them itself; this package never
 * does). Both must run in an elevated PowerShell ("Run as Administrator"); the VM lookup also
 * works for members of the "Hyper-V Administrators" group.
 */

/** The registry key under which Hyper-V looks up the services VMs may connect to. */
export const GUEST_COMMUNICATION_SERVICES_KEY = 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Virtualization\\GuestCommunicationServices';

/**
 * The PowerShell that registers a Hyper-V socket service on a Windows host: a key named after
 * the service id under `GuestCommunicationServices`, with an `ElementName` value (the name shown
 * by Hyper-V). It needs Administrator and has to run once per host
 * (https://learn.microsoft.com/virtualization/hyper-v-on-windows/user-guide/make-integration-service).
 * Nothing is run here. Throws RangeError for a service id that is not a GUID or a name with
 * control characters.
 */
export function registerServiceCommand(serviceId: string, name: string): string {
  const guid = canonicalGuid(serviceId);
  checkText('name', name);
  return [
    '# Run in an elevated PowerShell (Administrator), once per Hyper-V host.',
    `$key = ${quote(`${GUEST_COMMUNICATION_SERVICES_KEY}\\${guid}`)}`,
    'New-Item -Path $key -Force | Out-Null',
    `New-ItemProperty -Path $key -Name 'ElementName' -Value ${quote(name)} -PropertyType String -Force | Out-Null`,
  ].join('\n');
}

/**
 * The PowerShell that prints the id of the VM with this exact name (`Get-VM`, from the Hyper-V
 * module; names are compared exactly, not as wildcards). Hyper-V allows two VMs with the same
 * name; then it prints both ids. It needs Administrator or the "Hyper-V Administrators" group.
 * Nothing is run here. Throws RangeError for an empty name or one with control characters.
 */
export function vmIdLookupCommand(vmName: string): string {
  checkText('vmName', vmName);
  return `Get-VM | Where-Object { $_.Name -eq ${quote(vmName)} } | ForEach-Object { $_.Id.Guid }`;
}

function isControl(c: string): boolean {
  const n = c.codePointAt(0) ?? 0;
  return n < 0x20 || (n >= 0x7f && n <= 0x9f) || n === 0x2028 || n === 0x2029;
}

/** A PowerShell single-quoted string: nothing inside is expanded; quotes (PowerShell counts the typographic ones too) are doubled. */
function quote(text: string): string {
  return `'${text.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

function checkText(what: string, text: string): void {
  if (typeof text !== 'string' || text.length === 0) throw new RangeError(`${what} must be a non-empty string`);
  // A line break would end the command and start another.
  if ([...text].some(isControl)) throw new RangeError(`${what} must not contain control characters or line breaks`);
}
