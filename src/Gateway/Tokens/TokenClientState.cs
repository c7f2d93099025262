using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Tracing;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>The token and renewal state of one token client. See <see cref="TokenCache"/>.</summary>
internal sealed class TokenClientState : IDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Assumed lifetime when the endpoint sends no usable <c>expires_in</c> (RFC 6749 makes it optional).</summary>
    internal static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(5);

    /// <summary>Cap on an absurdly long <c>expires_in</c>, so a token is renewed at least daily.</summary>
    internal static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(24);

    /// <summary>A token is not sent in its last seconds, allowing for transit and clock skew.</summary>
    internal static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(5);

    private readonly string _name;
    private readonly IOptionsMonitor<TokenClientOptions> _options;
    private readonly ITokenEndpoint _endpoint;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly Lock _gate = new();

    private volatile AccessToken? _current;
    private Task<AccessToken>? _inflight;
    private int _failures;
    private DateTimeOffset _retryNotBefore;
    private string _lastError = "no_token_yet";
    private ITimer? _timer;
    private bool _disposed;

    public TokenClientState(string name, IOptionsMonitor<TokenClientOptions> options, ITokenEndpoint endpoint, TimeProvider time,
        ILogger logger, GatewayMetrics metrics)
    {
        _metrics = metrics;
        _name = name;
        _options = options;
        _endpoint = endpoint;
        _time = time;
        _logger = logger;
    }

    public ValueTask<AccessToken> GetAsync(CancellationToken cancellationToken)
    {
        var token = _current;
        if (token is not null)
        {
            var now = _time.GetUtcNow();
            if (now < token.ExpiresAt)
            {
                if (now >= token.RefreshAt)
                {
                    // The timer normally got here first; this covers a late or failed timer.
                    RefreshInBackground();
                }

                return new ValueTask<AccessToken>(token);
            }
        }

        return new ValueTask<AccessToken>(FetchAsync(cancellationToken));
    }

    public Task? PendingRenewal
    {
        get
        {
            lock (_gate)
            {
                return _inflight;
            }
        }
    }

    public AccessToken? Peek()
    {
        var token = _current;
        return token is not null && _time.GetUtcNow() < token.ExpiresAt ? token : null;
    }

    public void Invalidate(AccessToken rejected)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_current, rejected))
            {
                _current = null;
            }
        }
    }

    /// <summary>Starts a renewal unless one is running or the backoff says wait.</summary>
    public void RefreshInBackground()
    {
        Task<AccessToken> started;
        lock (_gate)
        {
            if (_disposed || _inflight is not null || (_failures > 0 && _time.GetUtcNow() < _retryNotBefore))
            {
                return;
            }

            started = _inflight = RunAsync();
        }

        // Nobody awaits a background renewal; its failure is logged in RunAsync.
        _ = started.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer?.Dispose();
        }
    }

    private async Task<AccessToken> FetchAsync(CancellationToken cancellationToken)
    {
        Task<AccessToken> shared;
        lock (_gate)
        {
            var token = _current;
            if (token is not null && _time.GetUtcNow() < token.ExpiresAt)
            {
                return token;
            }

            if (_inflight is null)
            {
                if (_failures > 0 && _time.GetUtcNow() < _retryNotBefore)
                {
                    // The endpoint failed moments ago: answer now rather than pile requests on it.
                    throw new TokenUnavailableException(_name, _lastError);
                }

                _inflight = RunAsync();
            }

            shared = _inflight;
        }

        // A caller that gives up stops waiting; the shared request goes on for the others.
        return await shared.WaitAsync(cancellationToken);
    }

    private async Task<AccessToken> RunAsync()
    {
        // Leave the caller's lock before doing any work.
        await Task.Yield();
        // A child of the request that needed the token (none for a background renewal).
        using var activity = GatewayTracing.Source.StartActivity("ocp.token");
        activity?.SetTag(GatewayTracing.TokenClient, _name);
        var started = _time.GetUtcNow();
        var maxRetryDelay = TimeSpan.FromSeconds(30);
        string error;
        try
        {
            var options = _options.Get(_name);
            maxRetryDelay = options.MaxRetryDelay;
            var result = await _endpoint.RequestAsync(_name, options, CancellationToken.None);
            if (result.IsSuccess)
            {
                var token = CreateToken(result, options, started);
                _metrics.TokenRequested(_name, success: true);
                lock (_gate)
                {
                    if (_current is not null)
                    {
                        _metrics.TokenRefreshed(_name);
                    }

                    _current = token;
                    _failures = 0;
                    _inflight = null;
                    Schedule(token.RefreshAt);
                }

                activity?.SetTag(GatewayTracing.Outcome, "obtained");
                TokenLog.TokenObtained(_logger, _name, result.ExpiresIn);
                return token;
            }

            error = result.Error!;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or OptionsValidationException or InvalidOperationException)
        {
            error = ex switch
            {
                OptionsValidationException => "invalid_configuration",
                OperationCanceledException => "timeout",
                _ => "unreachable",
            };
        }

        _metrics.TokenRequested(_name, success: false);
        // The OAuth error code or http_NNN: never the secret or the response body.
        activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error);
        TimeSpan delay;
        lock (_gate)
        {
            _failures++;
            _lastError = error;
            delay = RetryDelay(_failures, maxRetryDelay);
            _retryNotBefore = _time.GetUtcNow() + delay;
            _inflight = null;
            // Keep trying in the background: a cached token gets renewed before it expires, and a
            // gateway without one recovers without waiting for traffic.
            Schedule(_retryNotBefore);
        }

        TokenLog.TokenRequestFailed(_logger, _name, error, Peek() is not null, delay.TotalSeconds);
        throw new TokenUnavailableException(_name, error);
    }

    internal static AccessToken CreateToken(TokenEndpointResult result, TokenClientOptions options, DateTimeOffset requestedAt)
    {
        var lifetime = result.ExpiresIn > 0 ? TimeSpan.FromSeconds(result.ExpiresIn) : DefaultLifetime;
        if (lifetime > MaxLifetime)
        {
            lifetime = MaxLifetime;
        }

        // Lifetimes count from when the request was sent: the token may be that much older.
        var usable = lifetime > 2 * ExpiryMargin ? lifetime - ExpiryMargin : lifetime;
        var ahead = options.RefreshBeforeExpiry < usable ? options.RefreshBeforeExpiry : usable / 2;
        var expiresAt = requestedAt + usable;
        return new AccessToken(result.AccessToken!, expiresAt, expiresAt - ahead);
    }

    internal static TimeSpan RetryDelay(int failures, TimeSpan max)
    {
        var delay = FirstRetryDelay * Math.Pow(2, Math.Min(failures - 1, 16));
        return delay < max ? delay : max;
    }

    private void Schedule(DateTimeOffset at)
    {
        if (_disposed)
        {
            return;
        }

        var due = at - _time.GetUtcNow();
        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }

        if (_timer is null)
        {
            _timer = _time.CreateTimer(static s => ((TokenClientState)s!).RefreshInBackground(), this, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }
}
