namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>The outcome of the delivery store's most recent operation, for <c>/readyz</c>.</summary>
internal sealed class StoreHealth
{
    private volatile string? _lastError;

    /// <summary>Why the last operation failed, or null when it succeeded.</summary>
    public string? LastError => _lastError;

    public void Succeeded() => _lastError = null;

    public void Failed(Exception exception) => _lastError = exception.GetType().Name + ": " + exception.Message;
}
