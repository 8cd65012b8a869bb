module github.com/ferrysync/ferry/sdk-guest/go

go 1.24
