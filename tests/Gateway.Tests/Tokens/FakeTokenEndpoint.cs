using System.Threading.Channels;
using OcpTalkdesk.Gateway.Tokens;

namespace OcpTalkdesk.Gateway.Tests.Tokens;

/// <summary>
/// A token endpoint the test drives: every request is announced to <see cref="NextRequestAsync"/> and waits
/// for the test to answer it (or for a preset answer), so tests wait on events, not on time.
/// </summary>
internal sealed class FakeTokenEndpoint : ITokenEndpoint
{
    private readonly Channel<PendingTokenRequest> _requests = Channel.CreateUnbounded<PendingTokenRequest>();
    private int _calls;

    /// <summary>When set, requests are answered at once with this.</summary>
    public TokenEndpointResult? AutoAnswer { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public async Task<TokenEndpointResult> RequestAsync(string tokenClient, TokenClientOptions options, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (AutoAnswer is { } answer)
        {
            return answer;
        }

        var pending = new PendingTokenRequest();
        await _requests.Writer.WriteAsync(pending, cancellationToken);
        return await pending.Answer.Task;
    }

    /// <summary>The next request the cache sends (fails the test after 10 s of nothing).</summary>
    public async Task<PendingTokenRequest> NextRequestAsync() =>
        await _requests.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
}

internal sealed class PendingTokenRequest
{
    public TaskCompletionSource<TokenEndpointResult> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Succeed(string token, int expiresIn = 3600) => Answer.SetResult(TokenEndpointResult.Success(token, expiresIn));

    public void Fail(string error) => Answer.SetResult(TokenEndpointResult.Failure(error));
}
