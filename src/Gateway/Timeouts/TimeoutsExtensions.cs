using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;

namespace OcpTalkdesk.Gateway.Timeouts;

/// <summary>The execution timeout, on ASP.NET Core's request timeouts (which YARP's route <c>Timeout</c> also uses).</summary>
public static class TimeoutsExtensions
{
    /// <summary>
    /// Binds <c>Gateway:ExecutionTimeout</c> and makes it the default request timeout of every
    /// endpoint; a route's YARP <c>Timeout</c> or <c>TimeoutPolicy</c> overrides it.
    /// </summary>
    public static IHostApplicationBuilder AddExecutionTimeouts(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ExecutionTimeoutOptions>()
            .BindConfiguration("Gateway")
            .Validate(o => o.ExecutionTimeout > TimeSpan.Zero && o.ExecutionTimeout <= ExecutionTimeoutOptions.Longest,
                $"Gateway:ExecutionTimeout must be more than 0 and at most {ExecutionTimeoutOptions.Longest.TotalSeconds:0} seconds (Talkdesk's longest action timeout).")
            .ValidateOnStart()
            .KeepLastGoodOnReload();
        builder.Services.AddRequestTimeouts();
        // The request timeouts' policy is rebuilt after the execution timeout is (a change the monitor accepted), so a
        // reload takes effect on the next call, as the store-and-forward budget computed from the same value does.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<RequestTimeoutOptions>, ExecutionTimeoutChanges>());
        builder.Services.AddOptions<RequestTimeoutOptions>()
            .Configure<IOptionsMonitor<ExecutionTimeoutOptions>>((timeouts, execution) => timeouts.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = execution.CurrentValue.ExecutionTimeout,
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
            });
        // Graceful shutdown: on SIGTERM Kestrel stops accepting and the host waits for calls in flight;
        // an event may take the whole execution timeout, so the wait is that plus a margin.
        builder.Services.AddOptions<HostOptions>()
            .Configure<IOptions<ExecutionTimeoutOptions>>((host, execution) => host.ShutdownTimeout = execution.Value.ExecutionTimeout + ShutdownMargin);
        return builder;
    }

    /// <summary>How much longer than the execution timeout a graceful shutdown may take.</summary>
    public static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Starts the clock on every request (after routing, so per-route timeouts apply, and before inbound
    /// auth, so the execution timeout covers the whole call); the outcome step answers its expiry.
    /// </summary>
    public static WebApplication UseExecutionTimeouts(this WebApplication app)
    {
        app.UseRequestTimeouts();
        return app;
    }
}
