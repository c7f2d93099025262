# Multi-stage build of the gateway on the official .NET images.
# The publish command is the same one .ci/run runs, so CI exercises it even without a Docker engine.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Gateway/Gateway.csproj -c Release -o artifacts/publish

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /src/artifacts/publish .
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_gcServer=0
EXPOSE 8080
# The aspnet image ships a non-root 'app' user; $APP_UID is its id.
USER $APP_UID
ENTRYPOINT ["dotnet", "OcpTalkdesk.Gateway.dll"]
