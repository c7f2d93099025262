using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace OcpTalkdesk.Gateway.Timeouts;

/// <summary>
/// Tells the request timeouts' options to rebuild once the execution timeout has been rebuilt. Listening to the
/// configuration directly could rebuild them first, from the execution timeout still cached.
/// </summary>
internal sealed class ExecutionTimeoutChanges : IOptionsChangeTokenSource<RequestTimeoutOptions>, IDisposable
{
    private readonly IDisposable? _subscription;
    private Microsoft.Extensions.Configuration.ConfigurationReloadToken _token = new();

    public ExecutionTimeoutChanges(IOptionsMonitor<ExecutionTimeoutOptions> execution) =>
        _subscription = execution.OnChange((_, _) => Interlocked.Exchange(ref _token, new()).OnReload());

    public string Name => Options.DefaultName;

    public IChangeToken GetChangeToken() => Volatile.Read(ref _token);

    public void Dispose() => _subscription?.Dispose();
}
