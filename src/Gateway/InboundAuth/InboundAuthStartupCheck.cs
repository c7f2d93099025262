using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>Validates every method at start-up (naming the bad key) and warns about each <c>None</c>.</summary>
internal sealed class InboundAuthStartupCheck(InboundAuthMethods methods, IOptionsMonitor<InboundAuthOptions> options,
    ILogger<InboundAuthStartupCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var method in methods.Names)
        {
            if (options.Get(method).Type == InboundAuthTypes.None)
            {
                InboundAuthLog.NoneConfigured(logger, method);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
