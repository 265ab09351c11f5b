package crypto
