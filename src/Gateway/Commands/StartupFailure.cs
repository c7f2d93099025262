using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Commands;

/// <summary>
/// Turns what stops the gateway from starting into a few lines naming the key or file (never a stack
/// trace unless <c>--verbose</c>), and exit code 1.
/// </summary>
public static class StartupFailure
{
    /// <summary>Runs <paramref name="run"/>; an operator's mistake ends in clean lines on standard error and exit 1.</summary>
    public static async Task<int> GuardAsync(Func<Task<int>> run, bool verbose, TextWriter error)
    {
        try
        {
            return await run();
        }
        // Only as the process's own entry point: hosted by a test host (WebApplicationFactory), the
        // exception must reach the host that started the gateway.
        catch (Exception ex) when (IsOperatorMistake(ex) && System.Reflection.Assembly.GetEntryAssembly() == typeof(StartupFailure).Assembly)
        {
            foreach (var message in Messages(ex))
            {
                await error.WriteLineAsync(ConfigProblem.Format(message));
            }

            await error.WriteLineAsync(verbose
                ? ex.ToString()
                : "The gateway did not start. Fix the above (see README.md, Configuration), or run with --verbose for details.");
            return 1;
        }
    }

    /// <summary>What start-up refuses for a reason the operator can fix.</summary>
    internal static bool IsOperatorMistake(Exception ex) => ex is OptionsValidationException or SchemaLoadException
        or InvalidDataException or FormatException or IOException or InvalidOperationException or AggregateException
        or UnauthorizedAccessException or ArgumentException or StartupCheckException;

    /// <summary>The messages inside <paramref name="ex"/>, innermost detail kept, one per problem.</summary>
    internal static IEnumerable<string> Messages(Exception ex)
    {
        switch (ex)
        {
            case OptionsValidationException options:
                foreach (var failure in options.Failures)
                {
                    yield return failure;
                }

                yield break;
            case AggregateException aggregate:
                foreach (var inner in aggregate.InnerExceptions)
                {
                    foreach (var message in Messages(inner))
                    {
                        yield return message;
                    }
                }

                yield break;
            case StartupCheckException check:
                foreach (var problem in check.Problems)
                {
                    yield return problem;
                }

                yield break;
            case InvalidDataException { InnerException: not null }:
                // A broken appsettings.json: the file, then the parser's own words (line and column).
                var text = ex.Message;
                for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
                {
                    text += " " + inner.Message;
                }

                yield return text;
                yield break;
            case IOException when ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase):
                yield return ex.Message + " Another process listens there: choose other ports with --urls (or ASPNETCORE_URLS) and Gateway:ManagementPort.";
                yield break;
            case InvalidOperationException binding when BindingCheck.Describe(binding) is { } problem:
                yield return problem.Line;
                yield break;
            case InvalidOperationException { InnerException: { } inner }:
                foreach (var message in Messages(inner))
                {
                    yield return message;
                }

                yield break;
            default:
                yield return ex.Message;
                yield break;
        }
    }
}
