using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(OcpTalkdesk.Gateway.Benchmarks.ValidatorBenchmarks).Assembly).Run(args);
