using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// At start-up, checks every token client's settings (a bad one stops the process, naming the key)
/// and fetches the first tokens in the background, so the first event does not wait for them.
/// </summary>
internal sealed class TokenWarmUp(TokenCache cache, IOptionsMonitor<TokenClientOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var name in cache.ClientNames)
        {
            _ = options.Get(name);
        }

        cache.WarmUp();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
