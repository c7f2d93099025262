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

    /// <summary><c>deliveries</c>: <c>list</c>, <c>replay</c> or <c>discard</c>.</summary>
    public string? Action { get; private init; }

    /// <summary><c>deliveries list --state S</c> (default dead).</summary>
    public string State { get; private init; } = "dead";

    /// <summary><c>deliveries list --limit N</c> (default 100).</summary>
    public int Limit { get; private init; } = 100;

    /// <summary>The event id of <c>deliveries replay ID</c> or <c>discard ID</c>; null with <c>replay --all</c>.</summary>
    public long? DeliveryId { get; private init; }

    /// <summary>The conversation of <c>deliveries erase --conversation ID</c>.</summary>
    public string? ConversationId { get; private init; }

    /// <summary>What is wrong with the command line, if anything (exit 2).</summary>
    public string? UsageError { get; private init; }

    /// <summary>
    /// Set by <c>dotnet run</c> (the project's <c>RunArguments</c>): the directory <c>dotnet run</c> was typed
    /// in. The Web SDK runs the process in the project's folder, so without it a relative path given to a
    /// command would be looked for under <c>src/Gateway/</c> instead of where the operator is.
    /// </summary>
    public const string CallerDirectoryArgument = "--caller-directory=";

    public static GatewayCommand Parse(string[] args)
    {
        string? callerDirectory = null;
        if (Array.FindIndex(args, a => a.StartsWith(CallerDirectoryArgument, StringComparison.Ordinal)) is var at and >= 0)
        {
            callerDirectory = args[at][CallerDirectoryArgument.Length..].Trim('"');
            args = [.. args[..at], .. args[(at + 1)..]];
        }

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
            "validate" => ParseValidate(rest[1..], verbose, callerDirectory),
            "deliveries" => ParseDeliveries(rest[1..], verbose),
            _ => new GatewayCommand(CommandKind.Serve, rest) { Verbose = verbose },
        };
    }

    private static GatewayCommand ParseDeliveries(string[] args, bool verbose)
    {
        var action = args.Length > 0 ? args[0] : null;
        var state = "dead";
        var limit = 100;
        long? id = null;
        var all = false;
        string? conversation = null;
        var hostArgs = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--state" when i + 1 < args.Length:
                    state = args[++i];
                    break;
                case "--limit" when i + 1 < args.Length && int.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var n):
                    limit = n;
                    i++;
                    break;
                case "--all":
                    all = true;
                    break;
                case "--conversation" when i + 1 < args.Length:
                    conversation = args[++i];
                    break;
                case [not '-', ..] when id is null && long.TryParse(args[i], System.Globalization.CultureInfo.InvariantCulture, out var parsed):
                    id = parsed;
                    break;
                default:
                    hostArgs.Add(args[i]);
                    break;
            }
        }

        string? error = action switch
        {
            "list" => null,
            "replay" when id is not null ^ all => null,
            "replay" => "deliveries replay needs an event id or --all.",
            "discard" when id is not null => null,
            "discard" => "deliveries discard needs an event id.",
            "erase" when !string.IsNullOrEmpty(conversation) => null,
            "erase" => "deliveries erase needs --conversation ID.",
            "rekey" => null,
            _ => "deliveries needs list, replay, discard, erase or rekey.",
        };
        return new GatewayCommand(CommandKind.Deliveries, [.. hostArgs])
        {
            Verbose = verbose,
            Action = action,
            State = state,
            Limit = limit,
            DeliveryId = id,
            ConversationId = conversation,
            UsageError = error,
        };
    }

    private static string? FromCaller(string? path, string? callerDirectory) =>
        path is null || callerDirectory is null || Path.IsPathRooted(path) ? path : Path.GetFullPath(path, callerDirectory);

    private static GatewayCommand ParseValidate(string[] args, bool verbose, string? callerDirectory)
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
            SchemaFile = FromCaller(schema, callerDirectory),
            EventType = eventType,
            Input = input is null or "-" ? "-" : FromCaller(input, callerDirectory)!,
            JsonLines = jsonLines,
            UsageError = error,
        };
    }
}
