// The PowerShell that registerServiceCommand and vmIdLookupCommand print (nothing is run; both
// need an elevated PowerShell on a Windows host). No PowerShell exists here, so the output is
// checked as text: exact commands, and quoting that no name can break out of.
import { registerServiceCommand, vmIdLookupCommand } from '../src/hyperv/powershell';

describe('registerServiceCommand', () => {
  it('prints the GuestCommunicationServices key named by the canonical service id, with ElementName', () => {
    expect(registerServiceCommand('{3049197C-FACB-11E6-BD58-64006A7986D3}', 'sock stress')).toBe(
      [
        '# Run in an elevated PowerShell (Administrator), once per Hyper-V host.',
        "$key = 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Virtualization\\GuestCommunicationServices\\3049197c-facb-11e6-bd58-64006a7986d3'",
        'New-Item -Path $key -Force | Out-Null',
        "New-ItemProperty -Path $key -Name 'ElementName' -Value 'sock stress' -PropertyType String -Force | Out-Null",
      ].join('\n'),
    );
  });

  it('keeps any name inside one single-quoted string (quotes doubled, typographic ones too; $ and ` stay literal)', () => {
    const out = registerServiceCommand('00000050-facb-11e6-bd58-64006a7986d3', "it's $(rm -r C:\\) `x ‘q’");
    expect(out).toContain("-Value 'it''s $(rm -r C:\\) `x ‘‘q’’' -PropertyType");
  });

  it('refuses a service id that is not a GUID, and names with line breaks or control characters', () => {
    expect(() => registerServiceCommand('80', 'x')).toThrow(RangeError);
    expect(() => registerServiceCommand('00000050-facb-11e6-bd58-64006a7986d3', "x'\nRemove-Item C:\\")).toThrow(RangeError);
    expect(() => registerServiceCommand('00000050-facb-11e6-bd58-64006a7986d3', 'a\u2028b')).toThrow(RangeError);
    expect(() => registerServiceCommand('00000050-facb-11e6-bd58-64006a7986d3', '')).toThrow(RangeError);
  });
});

describe('vmIdLookupCommand', () => {
  it('prints an exact-name Get-VM lookup (no wildcard matching) that prints the id', () => {
    expect(vmIdLookupCommand('docker-desktop*')).toBe("Get-VM | Where-Object { $_.Name -eq 'docker-desktop*' } | ForEach-Object { $_.Id.Guid }");
  });

  it('quotes the name and refuses line breaks', () => {
    expect(vmIdLookupCommand("O'Brien VM")).toContain("-eq 'O''Brien VM'");
    expect(() => vmIdLookupCommand('a\rb')).toThrow(RangeError);
    expect(() => vmIdLookupCommand('')).toThrow(RangeError);
  });
});
