using Microsoft.Playwright;

namespace OcpTalkdesk.Gateway.Tests.Console;

/// <summary>
/// One headless Chromium for the console's browser tests: Debian's <c>chromium</c> package (<c>.ci/run</c> installs it),
/// or the executable <c>GATEWAY_TEST_CHROMIUM</c> names, driven by Playwright through <c>ExecutablePath</c>. Playwright's
/// own browser download is never used (nothing but the package registries is reachable).
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string EnvironmentVariable = "GATEWAY_TEST_CHROMIUM";
    private static readonly string[] Known = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } given ? given : Known.FirstOrDefault(File.Exists);
        if (executable is null || !File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"Chromium is needed for the console's browser tests: install Debian's 'chromium' package (bash .ci/run does), or set {EnvironmentVariable} to its executable.");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = executable, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>The browser tests share one Chromium.</summary>
[CollectionDefinition(Name)]
public sealed class ChromiumGroup : ICollectionFixture<Chromium>
{
    public const string Name = "Chromium";
}
