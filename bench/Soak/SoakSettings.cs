namespace OcpTalkdesk.Bench.Soak;

/// <summary>Command line: gateway publish folder, number of events, concurrency.</summary>
internal sealed record SoakSettings(string GatewayDirectory, int Events, int Concurrency)
{
    public static SoakSettings FromArgs(string[] args) => new(
        args.Length > 0 ? args[0] : throw new ArgumentException("usage: Soak <gateway publish folder> [events] [concurrency]"),
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 32);
}
