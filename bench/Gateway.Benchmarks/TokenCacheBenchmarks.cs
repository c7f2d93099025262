using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Tokens;

namespace OcpTalkdesk.Gateway.Benchmarks;

/// <summary>The token lookup every forwarded event makes: a cached, valid token.</summary>
[MemoryDiagnoser]
public class TokenCacheBenchmarks : IDisposable
{
    private TokenCache _cache = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var options = new TokenClientOptions { TokenEndpoint = new Uri("https://idp.example/token"), ClientId = "c", ClientSecret = "s" };
        _cache = new TokenCache(new Monitor(options), new TokenClientNames(["ocp"]), new Endpoint(), TimeProvider.System,
            NullLogger<TokenCache>.Instance, new GatewayMetrics());
        await _cache.GetAsync("ocp", CancellationToken.None);
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        _cache?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Description = "TokenCache.GetAsync, cached token")]
    public string CachedToken()
    {
        var pending = _cache.GetAsync("ocp", CancellationToken.None);
        return pending.IsCompletedSuccessfully ? pending.Result.HeaderValue : throw new InvalidOperationException("the token was not cached");
    }

    private sealed class Endpoint : ITokenEndpoint
    {
        public Task<TokenEndpointResult> RequestAsync(string tokenClient, TokenClientOptions options, CancellationToken cancellationToken) =>
            Task.FromResult(TokenEndpointResult.Success("benchmark-token", 3600));
    }

    private sealed class Monitor(TokenClientOptions options) : IOptionsMonitor<TokenClientOptions>
    {
        public TokenClientOptions CurrentValue => options;

        public TokenClientOptions Get(string? name) => options;

        public IDisposable? OnChange(Action<TokenClientOptions, string?> listener) => null;
    }
}
