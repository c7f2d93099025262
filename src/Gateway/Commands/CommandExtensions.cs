namespace OcpTalkdesk.Gateway.Commands;

/// <summary>Start-up wiring of the operator commands' checks and log settings.</summary>
public static class CommandExtensions
{
    /// <summary>
    /// Start-up failures are reported once, cleanly, by <see cref="StartupFailure"/>; the host's own
    /// "hosting failed to start" record (with its stack trace) is kept for <c>--verbose</c>.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayLogging(this IHostApplicationBuilder builder, bool verbose)
    {
        if (!verbose)
        {
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        }

        return builder;
    }

    /// <summary>
    /// Checks that every setting binds to its type (<see cref="BindingCheck"/>). Serving and the other
    /// commands stop on a problem; <c>check-config</c> gets the lines back to report with the rest.
    /// </summary>
    public static IReadOnlyList<string> CheckBindings(this IHostApplicationBuilder builder, GatewayCommand command)
    {
        var problems = BindingCheck.FindAndHideProblems(builder.Configuration);
        if (problems.Count > 0 && command.Kind != CommandKind.CheckConfig)
        {
            throw new StartupCheckException(problems);
        }

        return problems;
    }

    /// <summary>Runs <c>check-config</c>'s checks before the gateway listens; any problem stops start-up.</summary>
    public static async Task CheckConfigurationAsync(this WebApplication app)
    {
        var problems = await ConfigCheck.FindProblemsAsync(app.Services);
        if (problems.Count > 0)
        {
            throw new StartupCheckException(problems);
        }
    }
}
