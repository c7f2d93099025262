namespace OcpTalkdesk.Gateway.Commands;

/// <summary>
/// The command line, read by hand rather than with System.CommandLine: every argument that is not a
/// command's own is ASP.NET Core configuration (<c>--urls</c>, <c>--Gateway:MaxEventBytes=…</c>) and
/// must reach the host unchanged, which a generic parser would refuse or need teaching.
/// </summary>
public sealed class GatewayCommand
{
    private GatewayCommand(CommandKind kind, string[] hostArgs)
    {
        Kind = kind;
        HostArgs = hostArgs;
    }

    public CommandKind Kind { get; }

    /// <summary>The arguments the host's configuration reads.</summary>
    public string[] HostArgs { get; }

    /// <summary><c>--verbose</c>: start-up failures also print the exception.</summary>
    public bool Verbose { get; private init; }

    /// <summary><c>validate --schema FILE</c>.</summary>
    public string? SchemaFile { get; private init; }

    /// <summary><c>validate --event-type NAME</c>.</summary>
    public string? EventType { get; private init; }

    /// <summary>The input of <c>validate</c>: a file, or <c>-</c> for standard input.</summary>
    public string Input { get; private init; } = "-";

    /// <summary><c>--jsonl</c>: the input holds one body per line.</summary>
    public bool JsonLines { get; private init; }

    /// <summary>What is wrong with the command line, if anything (exit 2).</summary>
    public string? UsageError { get; private init; }

    public static GatewayCommand Parse(string[] args)
    {
        var verbose = Array.IndexOf(args, "--verbose") >= 0;
        var rest = verbose ? Array.FindAll(args, a => a != "--verbose") : args;
        if (rest.Length == 0)
        {
            return new GatewayCommand(CommandKind.Serve, rest) { Verbose = verbose };
        }

        return rest[0] switch
        {
            "--help" or "-h" or "help" => new GatewayCommand(CommandKind.Help, []),
            "healthcheck" => new GatewayCommand(CommandKind.HealthCheck, rest),
            "check-config" => new GatewayCommand(CommandKind.CheckConfig, rest[1..]) { Verbose = verbose },
            "validate" => ParseValidate(rest[1..], verbose),
            _ => new GatewayCommand(CommandKind.Serve, rest) { Verbose = verbose },
        };
    }

    private static GatewayCommand ParseValidate(string[] args, bool verbose)
    {
        string? schema = null, eventType = null, input = null, error = null;
        var jsonLines = false;
        var hostArgs = new List<string>();
        for (var i = 0; i < args.Length && error is null; i++)
        {
            switch (args[i])
            {
                case "--schema" when i + 1 < args.Length:
                    schema = args[++i];
                    break;
                case "--event-type" when i + 1 < args.Length:
                    eventType = args[++i];
                    break;
                case "--jsonl" when i + 1 < args.Length:
                    jsonLines = true;
                    input = args[++i];
                    break;
                case "--jsonl":
                    jsonLines = true;
                    break;
                case "--schema" or "--event-type":
                    error = $"{args[i]} needs a value.";
                    break;
                case "-" or [not '-', ..] when input is null:
                    input = args[i];
                    break;
                default:
                    // Configuration arguments (--Gateway:EventTypes:…=…, --environment …) go to the host.
                    hostArgs.Add(args[i]);
                    if (!args[i].Contains('=', StringComparison.Ordinal) && i + 1 < args.Length && !args[i + 1].StartsWith('-'))
                    {
                        hostArgs.Add(args[++i]);
                    }

                    break;
            }
        }

        if (error is null && (schema is null) == (eventType is null))
        {
            error = "validate needs exactly one of --schema FILE or --event-type NAME.";
        }

        return new GatewayCommand(CommandKind.Validate, [.. hostArgs])
        {
            Verbose = verbose,
            SchemaFile = schema,
            EventType = eventType,
            Input = input ?? "-",
            JsonLines = jsonLines,
            UsageError = error,
        };
    }
}
