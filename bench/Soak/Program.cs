// Soak test (issue #7): N mixed events through a running gateway process to a counting upstream that
// injects faults, then checks the delivery invariants. Run by bench/soak.sh; see bench/README.md.
using OcpTalkdesk.Bench.Soak;

if (args.Length > 0 && args[0] == "brownout")
{
    return await BrownoutBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "store-restart")
{
    return await StoreRestartBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "drain")
{
    return await DrainBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "console")
{
    return await ConsoleBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "delivery")
{
    return await DeliverySoak.RunAsync(args[1..]);
}

var settings = SoakSettings.FromArgs(args);
await using var upstream = await CountingUpstream.StartAsync();
using var gateway = GatewayProcess.Start(settings.GatewayDirectory, upstream.Address);
await gateway.WaitUntilReadyAsync();

var report = await new EventSender(settings, gateway).RunAsync();
var verdict = Invariants.Check(report, upstream);
Console.WriteLine(verdict.Summary);
return verdict.Passed ? 0 : 1;
