using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// At start-up, checks every token client's settings (a bad one stops the process, naming the key),
/// and once the server listens fetches the first tokens in the background, so the first event does
/// not wait for them. Waiting for the server matters when the token endpoint is the gateway itself
/// (the sandbox): fetched earlier, the first request would fail and log a warning at every start.
/// </summary>
internal sealed class TokenWarmUp(TokenCache cache, IOptionsMonitor<TokenClientOptions> options, IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var name in cache.ClientNames)
        {
            _ = options.Get(name);
        }

        lifetime.ApplicationStarted.Register(static state => ((TokenCache)state!).WarmUp(), cache);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
