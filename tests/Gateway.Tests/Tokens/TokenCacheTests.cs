using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Tokens;

namespace OcpTalkdesk.Gateway.Tests.Tokens;

public sealed class TokenCacheTests : IDisposable
{
    private const string Client = "ocp";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
    private readonly FakeTokenEndpoint _endpoint = new();
    private readonly TokenCache _cache;

    public TokenCacheTests()
    {
        var options = new TokenClientOptions
        {
            TokenEndpoint = new Uri("https://idp.example/token"),
            ClientId = "c",
            ClientSecret = "s",
            RefreshBeforeExpiry = TimeSpan.FromSeconds(60),
            MaxRetryDelay = TimeSpan.FromSeconds(8),
        };
        _cache = new TokenCache(new StaticOptionsMonitor<TokenClientOptions>(options), new TokenClientNames([Client]), _endpoint, _time, NullLogger<TokenCache>.Instance, new GatewayMetrics());
    }

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task Hundred_concurrent_misses_cause_one_token_request_and_later_calls_reuse_it()
    {
        var waiting = Enumerable.Range(0, 100).Select(_ => _cache.GetAsync(Client, CancellationToken.None).AsTask()).ToArray();
        (await _endpoint.NextRequestAsync()).Succeed("t1");

        var tokens = await Task.WhenAll(waiting);
        var later = await _cache.GetAsync(Client, CancellationToken.None);

        Assert.All(tokens, t => Assert.Equal("t1", t.Value));
        Assert.Equal("t1", later.Value);
        Assert.Equal(1, _endpoint.Calls);
    }

    [Fact]
    public async Task Token_is_renewed_in_the_background_before_expiry_and_no_caller_waits()
    {
        await PrimeAsync("t1", expiresIn: 3600);

        // expiry 3600 s less the 5 s margin, renewal 60 s ahead of that.
        _time.Advance(TimeSpan.FromSeconds(3600 - 5 - 60));
        var renewal = await _endpoint.NextRequestAsync();
        var whileRenewing = _cache.GetAsync(Client, CancellationToken.None);

        Assert.True(whileRenewing.IsCompletedSuccessfully, "a caller waited for the renewal");
        Assert.Equal("t1", (await whileRenewing).Value);

        var settled = _cache.PendingRenewal(Client)!;
        renewal.Succeed("t2");
        await settled;
        Assert.Equal("t2", (await _cache.GetAsync(Client, CancellationToken.None)).Value);
        Assert.Equal(2, _endpoint.Calls);
    }

    [Fact]
    public async Task Failed_renewal_keeps_the_valid_token_and_retries_with_backoff()
    {
        await PrimeAsync("t1", expiresIn: 3600);
        _time.Advance(TimeSpan.FromSeconds(3600 - 5 - 60));
        await AnswerRenewalAsync(r => r.Fail("temporarily_unavailable"));

        Assert.Equal("t1", (await _cache.GetAsync(Client, CancellationToken.None)).Value);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Null(_cache.PendingRenewal(Client));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await AnswerRenewalAsync(r => r.Fail("temporarily_unavailable"));
        Assert.Equal("t1", (await _cache.GetAsync(Client, CancellationToken.None)).Value);

        _time.Advance(TimeSpan.FromSeconds(2));
        await AnswerRenewalAsync(r => r.Succeed("t2"));

        Assert.Equal("t2", (await _cache.GetAsync(Client, CancellationToken.None)).Value);
        Assert.Equal(4, _endpoint.Calls);
    }

    [Fact]
    public async Task An_expired_token_is_never_handed_out()
    {
        _endpoint.AutoAnswer = TokenEndpointResult.Success("short", 30);
        await _cache.GetAsync(Client, CancellationToken.None);
        _endpoint.AutoAnswer = TokenEndpointResult.Failure("server_error");

        _time.Advance(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAsync<TokenUnavailableException>(() => _cache.GetAsync(Client, CancellationToken.None).AsTask());
        Assert.Equal("server_error", error.Error);
        Assert.Null(_cache.Peek(Client));
    }

    [Fact]
    public async Task No_cached_token_and_endpoint_failing_throws_with_the_oauth_error()
    {
        var pending = _cache.GetAsync(Client, CancellationToken.None).AsTask();
        (await _endpoint.NextRequestAsync()).Fail("invalid_client");

        var error = await Assert.ThrowsAsync<TokenUnavailableException>(() => pending);

        Assert.Equal("invalid_client", error.Error);
        Assert.Equal(Client, error.TokenClient);
        Assert.Contains("invalid_client", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalidate_drops_only_the_rejected_token()
    {
        _endpoint.AutoAnswer = TokenEndpointResult.Success("t1", 3600);
        var first = await _cache.GetAsync(Client, CancellationToken.None);
        _endpoint.AutoAnswer = TokenEndpointResult.Success("t2", 3600);

        _cache.Invalidate(Client, first);
        var second = await _cache.GetAsync(Client, CancellationToken.None);
        _cache.Invalidate(Client, first);

        Assert.Equal("t2", second.Value);
        Assert.Same(second, await _cache.GetAsync(Client, CancellationToken.None));
        Assert.Equal(2, _endpoint.Calls);
    }

    [Theory]
    [InlineData(3600, 3595, 3535)]
    [InlineData(0, 295, 235)]
    [InlineData(-5, 295, 235)]
    [InlineData(30, 25, 12.5)]
    [InlineData(999_999_999, 86395, 86335)]
    public void Lifetime_and_renewal_follow_expires_in(int expiresIn, double expiresAfter, double renewAfter)
    {
        var start = _time.GetUtcNow();
        var token = TokenClientState.CreateToken(TokenEndpointResult.Success("t", expiresIn), new TokenClientOptions(), start);

        Assert.Equal(TimeSpan.FromSeconds(expiresAfter), token.ExpiresAt - start);
        Assert.Equal(TimeSpan.FromSeconds(renewAfter), token.RefreshAt - start);
        Assert.DoesNotContain("t", token.ToString().Replace("token", "", StringComparison.Ordinal).Replace("at", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private async Task PrimeAsync(string token, int expiresIn)
    {
        var pending = _cache.GetAsync(Client, CancellationToken.None).AsTask();
        (await _endpoint.NextRequestAsync()).Succeed(token, expiresIn);
        Assert.Equal(token, (await pending).Value);
    }

    /// <summary>Answers the renewal the cache started and waits until the cache has taken the answer in.</summary>
    private async Task AnswerRenewalAsync(Action<PendingTokenRequest> answer)
    {
        var request = await _endpoint.NextRequestAsync();
        var settled = _cache.PendingRenewal(Client)!;
        answer(request);
        try
        {
            await settled;
        }
        catch (TokenUnavailableException)
        {
            // A failed renewal: the state has been updated all the same.
        }
    }
}
