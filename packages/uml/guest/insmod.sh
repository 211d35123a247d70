#!/bin/sh
# Loads kernel modules inside a user-mode Linux guest without kmod: finit_module(2) (x86-64
# system call 313) through perl, which every Debian root has. Usage: insmod.sh MODULE.ko...
# Prints "insmod <file> ok" per module; exits non-zero at the first failure.
for m in "$@"; do
  perl -e 'my $none = ""; open(my $f, "<", $ARGV[0]) or die "open $ARGV[0]: $!\n";
           syscall(313, fileno($f), $none, 0) == 0 or die "finit_module $ARGV[0]: $!\n"' "$m" || exit 1
  echo "insmod $(basename "$m") ok"
done
