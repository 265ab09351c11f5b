package dnsreg
