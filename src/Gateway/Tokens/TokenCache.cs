using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// One access token per token client, shared by every request — the small part of
/// Duende.AccessTokenManagement (not served here) that the gateway needs. The hot path reads a
/// volatile reference: no lock, no allocation. Renewal runs in the background ahead of expiry;
/// concurrent misses share one token request; a failed renewal keeps the still-valid token and
/// retries with backoff; an expired token is never handed out.
/// </summary>
internal sealed class TokenCache : IDisposable
{
    private readonly FrozenDictionary<string, TokenClientState> _clients;

    public TokenCache(IOptionsMonitor<TokenClientOptions> options, TokenClientNames names, ITokenEndpoint endpoint,
        TimeProvider time, ILogger<TokenCache> logger, GatewayMetrics metrics)
    {
        var clients = new Dictionary<string, TokenClientState>(StringComparer.Ordinal);
        foreach (var name in names.Names)
        {
            clients[name] = new TokenClientState(name, options, endpoint, time, logger, metrics);
            metrics.AddTokenClient(name);
        }

        _clients = clients.ToFrozenDictionary(StringComparer.Ordinal);
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            var now = time.GetUtcNow();
            foreach (var (name, state) in _clients)
            {
                metrics.TokenExpiresIn(name, state.Peek() is { } token ? (token.ExpiresAt - now).TotalSeconds : 0);
            }
        });
    }

    public IEnumerable<string> ClientNames => _clients.Keys;

    /// <summary>A valid token for the client, from the cache when possible.</summary>
    /// <exception cref="TokenUnavailableException">No valid token is cached and none can be obtained now.</exception>
    public ValueTask<AccessToken> GetAsync(string tokenClient, CancellationToken cancellationToken) =>
        State(tokenClient).GetAsync(cancellationToken);

    /// <summary>The upstream refused <paramref name="rejected"/>: forget it (unless already replaced).</summary>
    public void Invalidate(string tokenClient, AccessToken rejected) => State(tokenClient).Invalidate(rejected);

    /// <summary>Starts a background fetch for every client that has no token yet (start-up warm-up).</summary>
    public void WarmUp()
    {
        foreach (var state in _clients.Values)
        {
            state.RefreshInBackground();
        }
    }

    /// <summary>The client's cached token if it is still valid, else null (health and metrics).</summary>
    public AccessToken? Peek(string tokenClient) => State(tokenClient).Peek();

    /// <summary>The renewal under way for the client, if any (lets tests wait on it instead of on time).</summary>
    internal Task? PendingRenewal(string tokenClient) => State(tokenClient).PendingRenewal;

    public void Dispose()
    {
        foreach (var state in _clients.Values)
        {
            state.Dispose();
        }
    }

    private TokenClientState State(string tokenClient) =>
        _clients.TryGetValue(tokenClient, out var state)
            ? state
            : throw new InvalidOperationException($"Token client '{tokenClient}' is not configured under {TokenClientOptions.SectionName}.");
}
