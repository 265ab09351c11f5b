package localfs
