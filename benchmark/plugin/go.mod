module github.com/ferrysync/ferry/benchmark/plugin

go 1.24

require github.com/ferrysync/ferry/sdk-guest/go v0.0.0

replace github.com/ferrysync/ferry/sdk-guest/go => ../../sdk-guest/go
