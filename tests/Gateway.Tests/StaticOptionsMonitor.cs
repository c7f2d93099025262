using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Tests;

/// <summary>Options that never change, for a class under test that takes an <see cref="IOptionsMonitor{TOptions}"/>.</summary>
internal sealed class StaticOptionsMonitor<T>(T options) : IOptionsMonitor<T>
{
    public T CurrentValue => options;

    public T Get(string? name) => options;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
