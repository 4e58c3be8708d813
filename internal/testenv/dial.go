package testenv

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// DialFirestore connects to the Firestore emulator at host as its admin
// (the credential the Firestore client sends when FIRESTORE_EMULATOR_HOST
// is set), with extra options such as interceptors: give the connection
// to firestore.NewClient with option.WithGRPCConn.
func DialFirestore(host string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient(host, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(emulatorAdmin{})}, extra...)...)
}

type emulatorAdmin struct{}

func (emulatorAdmin) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}
func (emulatorAdmin) RequireTransportSecurity() bool { return false }
