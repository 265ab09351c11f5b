package csv
